/* The playbook's diagrams (vendored Mermaid, no CDN) and its print button. No inline JS. */
(function () {
  "use strict";

  function renderDiagrams() {
    if (!window.mermaid) { return; }
    window.mermaid.initialize({
      startOnLoad: false,
      securityLevel: "strict",
      theme: "neutral",
      fontFamily: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
      flowchart: { htmlLabels: true, curve: "basis", nodeSpacing: 28, rankSpacing: 46 }
    });
    window.mermaid.run({ querySelector: ".diagram pre.mermaid" }).then(function () {
      document.documentElement.dataset.diagrams = "rendered";
    }).catch(function (error) {
      document.documentElement.dataset.diagrams = "failed";
      if (window.console) { window.console.error("Diagram failed to render", error); }
    });
  }

  function wirePrint() {
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    wirePrint();
    renderDiagrams();
  });
})();
