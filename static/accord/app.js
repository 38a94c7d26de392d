/* Small behaviours of the workspaces; every page works without them.
   - "select all" checkboxes for bulk reassignment;
   - a readable message when an htmx request fails (403, 404, 500, network). */
(function () {
  "use strict";

  function showProblem(text) {
    var box = document.getElementById("client-problem");
    if (!box) {
      box = document.createElement("div");
      box.id = "client-problem";
      box.className = "messages";
      box.setAttribute("role", "alert");
      var main = document.getElementById("main") || document.body;
      main.insertBefore(box, main.firstChild);
    }
    box.innerHTML = "";
    var item = document.createElement("p");
    item.className = "message error";
    item.textContent = text;
    box.appendChild(item);
  }

  document.addEventListener("change", function (event) {
    var all = event.target.closest("input[data-select-all]");
    if (!all) return;
    var form = document.getElementById(all.getAttribute("data-select-all"));
    var boxes = document.querySelectorAll('input[name="leads"][form="' + form.id + '"]');
    for (var i = 0; i < boxes.length; i++) boxes[i].checked = all.checked;
  });

  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    var text = status === 403 ? "You are not allowed to do that."
      : status === 404 ? "That lead is no longer visible to you. Reload the page."
      : "Something went wrong (" + status + "). Reload the page and try again.";
    showProblem(text);
  });

  document.addEventListener("htmx:sendError", function () {
    showProblem("The server could not be reached. Check your connection and try again.");
  });
})();
