/* 发送验证码: a button rendered with data-sms-wait="60" (a code was just sent to that phone, which
   gets one a minute: SMS_PER_PHONE_MINUTE) stays disabled and counts down — 重新发送（59秒） … —
   then reads 发送验证码 again. Loaded by every page with such a button (信息验证, 首次登录 / 忘记密码,
   基本信息管理). */
(function () {
  'use strict';
  document.querySelectorAll('button[data-sms-wait]').forEach(function (button) {
    var left = parseInt(button.getAttribute('data-sms-wait'), 10) || 0;
    var label = button.textContent;
    function tick() {
      if (left <= 0) {
        button.disabled = false;
        button.textContent = label;
        return;
      }
      button.disabled = true;
      button.textContent = '重新发送（' + left + '秒）';
      left -= 1;
      window.setTimeout(tick, 1000);
    }
    tick();
  });
})();
