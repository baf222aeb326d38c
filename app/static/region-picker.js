/* Cascading 省/市/区县 picker over GB/T 2260 (data: /regions/<code>.json). The hidden input gets
   the deepest code chosen; a province or city alone is a valid answer where nothing lies below. */
(function ($) {
  function fill(select, items, placeholder, selected) {
    select.empty().append($('<option value="">').text(placeholder));
    items.forEach(function (it) {
      select.append($('<option>').val(it[0]).text(it[1]).prop('selected', it[0] === selected));
    });
    select.prop('disabled', items.length === 0);
  }
  function init(box) {
    var hidden = box.find('input[type=hidden]'), levels = box.find('select');
    var holders = ['请选择省份', '请选择城市', '请选择区县'];
    var path = String(box.data('path') || '').split(',').filter(Boolean);
    function load(level, parent, selected) {
      if (level > 2) { return $.Deferred().resolve(); }
      return $.getJSON('/regions/' + parent + '.json').then(function (items) {
        fill($(levels[level]), items, holders[level], selected);
      });
    }
    function clearFrom(level) {
      for (var i = level; i < 3; i++) { fill($(levels[i]), [], holders[i]); }
    }
    levels.each(function (i) {
      $(this).on('change', function () {
        var code = $(this).val();
        clearFrom(i + 1);
        hidden.val(code || (i > 0 ? $(levels[i - 1]).val() : ''));
        if (code) { load(i + 1, code); }
      });
    });
    clearFrom(0);
    load(0, 'root', path[0]).then(function () {
      return path[0] ? load(1, path[0], path[1]) : null;
    }).then(function () {
      return path[1] ? load(2, path[1], path[2]) : null;
    });
  }
  $(function () { $('.region-picker').each(function () { init($(this)); }); });
})(jQuery);
