/* The admin export page's "Select all" toggle: django-import-export wires it with an onchange
   attribute, which the Content-Security-Policy refuses; its own handler does the work. */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    if (typeof window.onSelectToggleChange !== "function") { return; }
    document.querySelectorAll("input.select-toggle").forEach(function (toggle) {
      toggle.addEventListener("change", window.onSelectToggleChange);
    });
  });
})();
