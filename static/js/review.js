/* Review page: keyboard shortcuts, the trail of items shown (J/K), image viewer,
 * time-on-item. No build step.
 *
 * Buttons and links carry data-key="<key>"; a key press clicks the matching
 * element, so the keyboard and the mouse go through the same htmx requests.
 */
(function () {
  "use strict";

  let shownAt = performance.now();
  let shownItem = null;

  const card = () => document.getElementById("item-card");
  const panels = () => document.querySelectorAll("#reject-panel, #edit-panel, #flag-panel");
  const isTyping = (el) =>
    el && el.closest && el.closest("input, textarea, select, [contenteditable]");

  function openPanel(id) {
    panels().forEach((panel) => { panel.hidden = panel.id !== id; });
    const panel = document.getElementById(id);
    if (panel && id === "edit-panel") {
      const question = panel.querySelector("textarea");
      question.focus();
      question.select();
    }
    if (panel && id === "flag-panel") panel.querySelector("textarea").focus();
  }

  function closePanels() {
    panels().forEach((panel) => { panel.hidden = true; });
  }

  function clickKey(selector) {
    const el = document.querySelector(selector);
    if (!el || el.disabled) return false;
    el.click();
    return true;
  }

  function toggleHelp() {
    const help = document.getElementById("help");
    if (help.open) help.close(); else help.showModal();
  }

  document.addEventListener("click", (event) => {
    const toggle = event.target.closest("[data-toggle]");
    if (toggle) {
      const panel = document.getElementById(toggle.dataset.toggle);
      if (panel && panel.hidden) openPanel(panel.id); else closePanels();
    }
    if (event.target.closest("[data-action=help]")) toggleHelp();
  });

  document.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      const form = event.target.closest && event.target.closest("form");
      if (form) { event.preventDefault(); form.requestSubmit(); }
      return;
    }
    if (event.key === "Escape") {
      if (isTyping(event.target)) event.target.blur(); else closePanels();
      return;
    }
    if (isTyping(event.target) || event.ctrlKey || event.metaKey || event.altKey) return;
    if (document.getElementById("help").open && event.key !== "?") return;
    const rejecting = !(document.getElementById("reject-panel") || {hidden: true}).hidden;
    if (rejecting && /^[1-8]$/.test(event.key)) {
      event.preventDefault();
      clickKey(`[data-reason-key="${event.key}"]`);
      return;
    }
    const key = event.key.toLowerCase();
    if (key === "+" || key === "=") { zoomAll(1.25); return; }
    if (key === "-") { zoomAll(0.8); return; }
    if (key === "0") { viewers().forEach(fit); return; }
    if (key === "?") { event.preventDefault(); toggleHelp(); return; }
    if (/^[a-z]$/.test(key) && clickKey(`[data-key="${key}"]`)) event.preventDefault();
  });

  // Seconds on the item go with every decision (the service stores them).
  document.addEventListener("submit", (event) => {
    const seconds = ((performance.now() - shownAt) / 1000).toFixed(3);
    event.target.querySelectorAll("[data-seconds]").forEach((input) => {
      input.value = seconds;
    });
  }, true);

  /* Deciding ahead. The upcoming partial leaves the next item's card in a
   * <template> inside the current card. With it there, a decision shows the
   * next card at once and the decision is saved behind it. Saves run one at a
   * time and every htmx request waits for them, so an undo never overtakes the
   * decision it undoes. The server answers a save with the progress only, or
   * with a card to show instead: the conflict panel (409), the form errors
   * (422), or another item when the shown one is no longer the reviewer's. A
   * save that fails puts the decided item back with a notice. */
  let saving = Promise.resolve();
  let pendingSaves = 0;

  function upcomingCard(current) {
    const ahead = current && current.querySelector("template[data-upcoming]");
    if (!ahead || ahead.dataset.after !== current.dataset.itemId) return null;
    const next = ahead.content.getElementById("item-card");
    return next && next.dataset.itemId ? document.importNode(next, true) : null;
  }

  function show(element) {
    const old = document.getElementById(element.id);
    if (!old) return;
    old.replaceWith(element);
    htmx.process(element);
    if (element.id === "item-card") onCard();
  }

  function showResponse(html) {
    const parsed = document.createElement("template");
    parsed.innerHTML = html;
    parsed.content.querySelectorAll("#item-card, #progress").forEach((el) => {
      el.removeAttribute("hx-swap-oob");
      show(el);
    });
  }

  function putBack(decided, message) {
    decided.querySelectorAll("#notice").forEach((el) => el.remove());
    const notice = document.createElement("p");
    notice.className = "message error";
    notice.id = "notice";
    notice.setAttribute("role", "alert");
    notice.textContent = message;
    decided.prepend(notice);
    show(decided);
  }

  async function save(url, body, decided) {
    const item = decided.dataset.itemId;
    try {
      const response = await fetch(url, {
        method: "POST", body, credentials: "same-origin",
        keepalive: true,  // a save still in flight survives leaving the page
        headers: {"HX-Request": "true", "HX-Target": "item-card"},
      });
      if (response.ok || response.status === 409 || response.status === 422) {
        showResponse(await response.text());
      } else {
        putBack(decided, `Item ${item}: your decision was not saved (HTTP ${response.status}). Decide again.`);
      }
    } catch (error) {
      putBack(decided, `Item ${item}: your decision was not saved (the server did not answer). Decide again.`);
    }
  }

  function decideAhead(form, submitter) {
    const current = card();
    const next = upcomingCard(current);
    if (!next) return false;
    const body = new FormData(form, submitter);
    body.set("shown", next.dataset.itemId);
    next.setAttribute("data-ahead", "");  // shown before its decision was saved
    pendingSaves += 1;
    saving = saving.then(() => save(form.action, body, current))
      .finally(() => { pendingSaves -= 1; });
    show(next);
    return true;
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!["decide-form", "reject-panel", "flag-panel"].includes(form.id)) return;
    if (decideAhead(form, event.submitter)) {
      event.preventDefault();
      event.stopPropagation();  // htmx listens on the form: it never sees this one
    }
  }, true);

  // Leaving while a decision waits to be sent would lose it: ask first.
  window.addEventListener("beforeunload", (event) => {
    if (pendingSaves) event.preventDefault();
  });

  document.addEventListener("htmx:confirm", (event) => {
    if (!pendingSaves) return;
    event.preventDefault();
    saving.then(() => event.detail.issueRequest(true));
  });

  /* The trail: the items shown in this tab, in the order shown, like browser
   * history. K steps back along it, J forward again; at its end J moves on to a
   * new item, passing over every item shown before (they go as more `after`
   * values, so J never hands back an item skipped a moment ago). Showing an
   * item by any other way (a decision, undo, a page load) cuts the steps ahead
   * and adds it; the item just before is a step back (undo, a save put back).
   * Before the trail's start K follows the server's link (the item decided
   * before) and the trail grows at the front. Kept per tab in sessionStorage. */
  const TRAIL_KEY = "review-trail";
  const TRAIL_CAP = 200;  // as views.MAX_PASSED
  let trail = loadTrail();  // {ids: item ids as strings, at: index shown}
  let stepping = null;  // {item, to}: where the K or J link just clicked leads

  function loadTrail() {
    try {
      const saved = JSON.parse(sessionStorage.getItem(TRAIL_KEY));
      if (saved && Array.isArray(saved.ids) && Number.isInteger(saved.at)) return saved;
    } catch (error) {
      // Storage blocked or the value garbled: the trail starts again.
    }
    return {ids: [], at: -1};
  }

  function storeTrail() {
    try {
      sessionStorage.setItem(TRAIL_KEY, JSON.stringify(trail));
    } catch (error) {
      // Storage blocked or full: the trail lives as long as the page.
    }
  }

  // The index the item takes when shown; -1 is before the trail's start.
  function placeOf(item) {
    if (stepping && stepping.item === item) return stepping.to;
    if (trail.ids[trail.at] === item) return trail.at;
    if (trail.at > 0 && trail.ids[trail.at - 1] === item) return trail.at - 1;
    return trail.at + 1;
  }

  function record(item) {
    const at = placeOf(item);
    stepping = null;
    if (at < 0) {
      trail.ids.unshift(item);
      trail.ids = trail.ids.slice(0, TRAIL_CAP);
      trail.at = 0;
    } else if (trail.ids[at] === item) {
      trail.at = at;
    } else {
      trail.ids = trail.ids.slice(0, at).concat(item).slice(-TRAIL_CAP);
      trail.at = trail.ids.length - 1;
    }
    storeTrail();
  }

  // Items passed before this one, latest first: J and the prefetch skip them.
  function passedBefore(item) {
    return trail.ids.slice(0, Math.max(placeOf(item), 0)).reverse();
  }

  function pointLink(link, url, step) {
    link.href = url;
    link.setAttribute("hx-get", url);
    link.setAttribute("hx-push-url", url);
    if (step) {
      link.dataset.item = step.item;
      link.dataset.trailTo = step.to;
      link.removeAttribute("data-after-passed");
    } else {
      delete link.dataset.item;
      delete link.dataset.trailTo;
      link.setAttribute("data-after-passed", "");
    }
  }

  function pointTrailLinks(current) {
    const nav = current && current.querySelector("[data-trail]");
    if (!nav) return;
    const at = trail.at;
    const itemUrl = (item) => nav.dataset.itemUrl.replace(/0\/$/, `${item}/`);
    let back = null;
    if (at > 0) back = {item: trail.ids[at - 1], to: at - 1};
    else if (nav.dataset.previous) back = {item: nav.dataset.previous, to: -1};
    const next = nav.querySelector('[data-key="j"]');
    let previous = nav.querySelector('[data-key="k"]');
    if (back && !previous) {
      previous = next.cloneNode(false);
      previous.textContent = "Previous (K)";
      previous.dataset.key = "k";
      previous.setAttribute("aria-keyshortcuts", "K");
      next.before(previous);
    }
    if (back) pointLink(previous, itemUrl(back.item), back);
    else if (previous) previous.remove();
    if (at < trail.ids.length - 1) {
      const item = trail.ids[at + 1];
      pointLink(next, itemUrl(item), {item, to: at + 1});
    } else {
      pointLink(next, nav.dataset.nextUrl, null);
    }
    htmx.process(nav);
  }

  document.addEventListener("click", (event) => {
    const link = event.target.closest && event.target.closest("[data-trail-to]");
    if (link) stepping = {item: link.dataset.item, to: Number(link.dataset.trailTo)};
  }, true);

  document.addEventListener("htmx:configRequest", (event) => {
    const elt = event.detail.elt;
    const shown = elt.closest("#item-card");
    if (!elt.hasAttribute("data-after-passed") || !shown) return;
    passedBefore(shown.dataset.itemId).forEach((item) => {
      event.detail.parameters.append("after", item);
    });
  });

  // A step to an item the reviewer may no longer open (404) passes over it.
  document.addEventListener("htmx:responseError", (event) => {
    const step = stepping;
    const link = event.detail.elt;
    stepping = null;
    if (!step || step.to < 0 || !link.dataset || link.dataset.trailTo === undefined) return;
    if (event.detail.xhr.status !== 404) return;
    trail.ids.splice(step.to, 1);
    if (step.to < trail.at) trail.at -= 1;
    storeTrail();
    pointTrailLinks(card());
    clickKey(`[data-key="${link.dataset.key}"]`);
  });
  document.addEventListener("htmx:sendError", () => { stepping = null; });

  /* Image viewer: wheel or +/- to zoom, drag to pan, sliders for brightness
   * and contrast, Fit (or 0) to fit the stage. State lives on the element. */
  const viewers = () => document.querySelectorAll("[data-viewer]");

  function apply(viewer) {
    const s = viewer._view;
    const img = viewer.querySelector("[data-viewer-image]");
    img.style.transform = `translate(${s.x}px, ${s.y}px) scale(${s.scale})`;
    img.style.filter = `brightness(${s.brightness}%) contrast(${s.contrast}%)`;
  }

  function fit(viewer) {
    const s = viewer._view;
    s.scale = 1; s.x = 0; s.y = 0;
    apply(viewer);
  }

  function zoom(viewer, factor) {
    const s = viewer._view;
    s.scale = Math.min(20, Math.max(0.2, s.scale * factor));
    apply(viewer);
  }

  function zoomAll(factor) { viewers().forEach((v) => zoom(v, factor)); }

  function initViewer(viewer) {
    if (viewer._view) return;
    viewer._view = {scale: 1, x: 0, y: 0, brightness: 100, contrast: 100};
    const stage = viewer.querySelector("[data-viewer-stage]");
    viewer.addEventListener("click", (event) => {
      const action = event.target.dataset && event.target.dataset.viewerAction;
      if (action === "zoom-in") zoom(viewer, 1.25);
      if (action === "zoom-out") zoom(viewer, 0.8);
      if (action === "fit") fit(viewer);
    });
    viewer.addEventListener("input", (event) => {
      const name = event.target.dataset.viewerFilter;
      if (name) { viewer._view[name] = Number(event.target.value); apply(viewer); }
    });
    stage.addEventListener("wheel", (event) => {
      event.preventDefault();
      zoom(viewer, event.deltaY < 0 ? 1.1 : 0.9);
    }, {passive: false});
    let drag = null;
    stage.addEventListener("pointerdown", (event) => {
      drag = {x: event.clientX - viewer._view.x, y: event.clientY - viewer._view.y};
      stage.setPointerCapture(event.pointerId);
    });
    stage.addEventListener("pointermove", (event) => {
      if (!drag) return;
      viewer._view.x = event.clientX - drag.x;
      viewer._view.y = event.clientY - drag.y;
      apply(viewer);
    });
    stage.addEventListener("pointerup", () => { drag = null; });
  }

  function onCard() {
    viewers().forEach(initViewer);
    const current = card();
    const id = current && current.dataset.itemId;
    if (id !== shownItem) { shownItem = id; shownAt = performance.now(); }
    if (id) { record(id); pointTrailLinks(current); }
    const ahead = Boolean(current && current.hasAttribute("data-ahead"));
    document.dispatchEvent(new CustomEvent("review:shown", {detail: {item: id, ahead}}));
  }

  document.addEventListener("DOMContentLoaded", onCard);
  document.addEventListener("htmx:afterSettle", (event) => {
    if (event.target && event.target.id === "item-card") onCard();
  });
})();
