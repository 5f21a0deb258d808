// Item browser: one checkbox picks or clears every item on the page.
(function () {
  "use strict";
  const all = document.querySelector("[data-pick-all]");
  if (!all) return;
  const boxes = () => document.querySelectorAll('#item-table input[name="items"]');
  all.addEventListener("change", () => {
    boxes().forEach((box) => { box.checked = all.checked; });
  });
})();
