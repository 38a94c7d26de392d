/* Draws each report chart: a <canvas data-chart="ID"> reads its Chart.js config from
   the JSON script tag with that id (Django's json_script). No inline scripts; the
   table under each chart carries the same numbers for anyone without JavaScript. */
(function () {
  "use strict";

  function draw() {
    if (typeof window.Chart === "undefined") return;
    window.reportCharts = window.reportCharts || [];
    var canvases = document.querySelectorAll("canvas[data-chart]");
    for (var i = 0; i < canvases.length; i++) {
      var canvas = canvases[i];
      if (canvas.getAttribute("data-drawn")) continue;
      var source = document.getElementById(canvas.getAttribute("data-chart"));
      if (!source) continue;
      var config = JSON.parse(source.textContent);
      window.reportCharts.push(new window.Chart(canvas, config));
      canvas.setAttribute("data-drawn", "true");
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
