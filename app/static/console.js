/* The support console (Flask-Admin, /console) under the Content-Security-Policy (app/headers.py):
   its "javascript:void(0)" and "#" links (dropdown toggles, the current page, the filter menu,
   select2's choices) only carry script handlers. Following one would be refused by the policy
   (javascript:) or jump to the top of the page (#): the capture phase stops that first. */
document.addEventListener('click', function (event) {
  var link = event.target instanceof Element && event.target.closest('a[href]');
  if (link && (link.getAttribute('href') === '#' || /^\s*javascript:/i.test(link.getAttribute('href')))) {
    event.preventDefault();
  }
}, true);
