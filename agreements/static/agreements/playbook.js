/* The playbook's diagrams (vendored Mermaid, no CDN) and its print button. No inline JS.
 *
 * Mermaid is 3.5 MB of script: loading it with the page made the playbook take 1-2 s to
 * show. It is fetched only after the page's load event (its address is this script tag's
 * data-mermaid), and each diagram is drawn when it comes near the window; the ones still
 * undrawn follow once the browser is idle, so printing or a quick scroll finds them drawn.
 * <html data-diagrams> says "pending", then "rendered" (or "failed").
 */
(function () {
  "use strict";

  var mermaidSrc = document.currentScript ? document.currentScript.dataset.mermaid : "";
  var loading = null;
  var queue = Promise.resolve();
  var undrawn = [];
  var failed = false;

  function mark(state) {
    document.documentElement.dataset.diagrams = state;
  }

  function configure(mermaid) {
    mermaid.initialize({
      startOnLoad: false,
      securityLevel: "strict",
      theme: "neutral",
      fontFamily: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
      flowchart: { htmlLabels: true, curve: "basis", nodeSpacing: 28, rankSpacing: 46 }
    });
    return mermaid;
  }

  function loadMermaid() {
    if (!loading) {
      loading = new Promise(function (resolve, reject) {
        if (window.mermaid) { resolve(configure(window.mermaid)); return; }
        var tag = document.createElement("script");
        tag.src = mermaidSrc;
        tag.onload = function () { resolve(configure(window.mermaid)); };
        tag.onerror = function () { reject(new Error("Mermaid did not load from " + mermaidSrc)); };
        document.head.appendChild(tag);
      });
    }
    return loading;
  }

  // Diagrams are drawn one after another: Mermaid's run is not meant to overlap itself.
  function draw(pre) {
    var at = undrawn.indexOf(pre);
    if (at < 0) { return queue; }
    undrawn.splice(at, 1);
    queue = queue.then(loadMermaid).then(function (mermaid) {
      return mermaid.run({ nodes: [pre] });
    }).then(function () {
      if (!undrawn.length && !failed) { mark("rendered"); }
    }).catch(function (error) {
      failed = true;
      mark("failed");
      if (window.console) { window.console.error("Diagram failed to render", error); }
    });
    return queue;
  }

  function drawAll() {
    undrawn.slice().forEach(draw);
  }

  function drawWhenSeen() {
    if (!("IntersectionObserver" in window)) { drawAll(); return; }
    var observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        if (!entry.isIntersecting) { return; }
        observer.unobserve(entry.target);
        draw(entry.target);
      });
    }, { rootMargin: "200px 0px" });
    undrawn.forEach(function (pre) { observer.observe(pre); });
  }

  function whenIdle(fn) {
    if (window.requestIdleCallback) {
      window.requestIdleCallback(fn, { timeout: 3000 });
    } else {
      window.setTimeout(fn, 500);
    }
  }

  function startDiagrams() {
    undrawn = Array.prototype.slice.call(document.querySelectorAll(".diagram pre.mermaid"));
    if (!undrawn.length || !mermaidSrc) { return; }
    drawWhenSeen();
    whenIdle(drawAll);
    window.addEventListener("beforeprint", drawAll);
  }

  function wirePrint() {
    document.querySelectorAll("[data-print]").forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
  }

  if (document.querySelector(".diagram pre.mermaid")) { mark("pending"); }
  document.addEventListener("DOMContentLoaded", wirePrint);
  // After the load event (and its handlers): nothing here delays the page showing.
  window.addEventListener("load", function () { window.setTimeout(startDiagrams, 0); });
})();
