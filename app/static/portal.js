/* What inline handlers (onclick=, onsubmit=) and javascript: links used to do: the
   Content-Security-Policy (app/headers.py) runs neither, so every page loads this file and the
   templates say what they want in data-* attributes:
     <form data-confirm="…">            confirm() before the form is sent
     <button data-confirm="…">          confirm() before the click (a formaction button)
     <form data-require-field="reason" data-require-message="…">
                                        alert() and do not send while that field is blank
     <input type=checkbox data-check-all=".row-check">
                                        checks or unchecks every box the selector finds
     <a href="#" data-history-back>     back to the previous page
     <button data-require-checked="selector" data-require-message="…">
                                        alert() and do not click while no box the selector finds is checked
     <form data-drop-empty>             a GET search form leaves its blank fields out of the URL
     <input type=file data-capture-into="id">
                                        the chosen file (a phone's camera photo) becomes the file of
                                        the input with that id (macros.camera_button) */
(function () {
  'use strict';
  document.addEventListener('click', function (event) {
    var target = event.target;
    if (!(target instanceof Element)) { return; }
    var needs = target.closest('[data-require-checked]');
    if (needs && !document.querySelector(needs.getAttribute('data-require-checked') + ':checked')) {
      window.alert(needs.getAttribute('data-require-message'));
      event.preventDefault();
      return;
    }
    var asking = target.closest('[data-confirm]');
    if (asking && asking.tagName !== 'FORM' && !window.confirm(asking.getAttribute('data-confirm'))) {
      event.preventDefault();
      return;
    }
    if (target.closest('[data-history-back]')) {
      event.preventDefault();
      window.history.back();
    }
  });
  document.addEventListener('submit', function (event) {
    var form = event.target;
    if (form.hasAttribute('data-drop-empty')) {
      Array.prototype.forEach.call(form.elements, function (el) {
        if (el.name && el.value === '' && el.tagName !== 'BUTTON') { el.disabled = true; }
      });
    }
    var field = form.getAttribute('data-require-field');
    if (field && form.elements[field] && form.elements[field].value.trim() === '') {
      window.alert(form.getAttribute('data-require-message'));
      event.preventDefault();
      return;
    }
    if (form.hasAttribute('data-confirm') && !window.confirm(form.getAttribute('data-confirm'))) {
      event.preventDefault();
    }
  });
  document.addEventListener('change', function (event) {
    var into = event.target instanceof Element && event.target.getAttribute('data-capture-into');
    if (into && event.target.files.length) {
      document.getElementById(into).files = event.target.files;
      return;
    }
    var selector = event.target instanceof Element && event.target.getAttribute('data-check-all');
    if (selector) {
      document.querySelectorAll(selector).forEach(function (box) { box.checked = event.target.checked; });
    }
  });
})();
