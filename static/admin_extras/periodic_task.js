/* The admin's periodic task form: the chosen crontab's readable translation under the field.
   django-celery-beat does this in an inline script, which the Content-Security-Policy refuses. */
(function () {
  "use strict";

  function wire() {
    var data = document.getElementById("readable-crontabs");
    var select = document.getElementById("id_crontab");
    if (!data || !select) { return; }
    var readable = JSON.parse(data.textContent);
    var help = document.querySelector(".field-crontab .help");
    var original = help ? help.textContent : "";
    var translation = document.querySelector(".field-crontab_translation");
    if (translation) { translation.style.display = "none"; }
    select.addEventListener("change", function () {
      if (!help) { return; }
      help.textContent = original;
      help.appendChild(document.createElement("br"));
      help.appendChild(document.createTextNode("Translation: " + (readable[select.value] || "")));
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", wire);
  } else {
    wire();
  }
})();
