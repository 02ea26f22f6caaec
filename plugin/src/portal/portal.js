// The connect portal's one script: search boxes that narrow a posting list by title. The
// page works without it (the full list stays selectable).
"use strict";
document.querySelectorAll("input[data-filter]").forEach((input) => {
  const select = document.getElementById(input.dataset.filter);
  if (!select) return;
  input.addEventListener("input", () => {
    const wanted = input.value.trim().toLowerCase();
    for (const option of select.options) {
      const keep = option.value === "" || option.selected || option.text.toLowerCase().includes(wanted);
      option.hidden = !keep;
    }
    const first = Array.from(select.options).find((o) => o.value !== "" && !o.hidden);
    if (wanted && first && !select.value) first.selected = true;
  });
});
