/* Live SLA countdowns: every <time data-countdown datetime="…"> shows the time left
   ("2h 14m left") or overdue ("15m overdue"), refreshed every second. The server
   renders the absolute time, so the page reads fine without JavaScript. */
(function () {
  "use strict";

  function format(ms) {
    var total = Math.floor(Math.abs(ms) / 1000);
    var days = Math.floor(total / 86400);
    var hours = Math.floor((total % 86400) / 3600);
    var minutes = Math.floor((total % 3600) / 60);
    var seconds = total % 60;
    if (days > 0) return days + "d " + hours + "h";
    if (hours > 0) return hours + "h " + minutes + "m";
    if (minutes >= 10) return minutes + "m";
    return minutes + "m " + (seconds < 10 ? "0" : "") + seconds + "s";
  }

  function tick() {
    var now = Date.now();
    var clocks = document.querySelectorAll("time[data-countdown]");
    for (var i = 0; i < clocks.length; i++) {
      var el = clocks[i];
      var due = Date.parse(el.getAttribute("datetime"));
      if (isNaN(due)) continue;
      if (!el.hasAttribute("title")) el.setAttribute("title", el.textContent.trim());
      var left = due - now;
      el.textContent = left >= 0 ? format(left) + " left" : format(left) + " overdue";
      el.classList.toggle("overdue", left < 0);
      el.classList.toggle("soon", left >= 0 && left < 3600 * 1000);
    }
  }

  function start() {
    tick();
    window.setInterval(tick, 1000);
    document.body.addEventListener("htmx:afterSettle", tick);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
