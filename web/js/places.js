// The region cascade of the public pages (province → kabupaten/kota → kecamatan), each level optional: the
// region chosen is the most precise one picked, or none (the whole country). Names come from /regions.
import { api } from "./api.js";
import { t } from "./i18n.js";

export class Places {
  // levels: [{select, allKey}] from the top; onChange(code) after every choice.
  constructor(levels, onChange) {
    this.levels = levels;
    this.onChange = onChange;
    this.names = new Map();
    levels.forEach((level, i) => level.select.addEventListener("change", async () => {
      await this.fillBelow(i);
      this.onChange(this.code());
    }));
  }

  async fill(i, parent) {
    const { select, allKey } = this.levels[i];
    const items = i === 0 || parent ? (await api.regions(parent)).items : [];
    items.forEach((r) => this.names.set(r.code, r.name));
    select.replaceChildren(new Option(t(allKey), ""), ...items.map((r) => new Option(r.name, r.code)));
    select.disabled = items.length === 0;
    return items;
  }

  async fillBelow(i) {
    for (let j = i + 1; j < this.levels.length; j += 1) {
      await this.fill(j, j === i + 1 ? this.levels[i].select.value : "");
    }
  }

  // Start from a code (e.g. the page's #64.72), or from the whole country.
  async start(code = "") {
    const parts = code ? code.split(".") : [];
    await this.fill(0);
    for (let i = 0; i < this.levels.length; i += 1) {
      const wanted = parts.slice(0, i + 1).join(".");
      const select = this.levels[i].select;
      if (i < parts.length && [...select.options].some((o) => o.value === wanted)) select.value = wanted;
      if (i + 1 < this.levels.length) await this.fill(i + 1, select.value);
    }
    return this.code();
  }

  code() {
    const chosen = this.levels.map((l) => l.select.value).filter(Boolean);
    return chosen.length ? chosen[chosen.length - 1] : "";
  }

  name(code) {
    return this.names.get(code) || code;
  }

  // Names of the regions one level below code (for a chart's labels).
  async childNames(code) {
    try {
      for (const r of (await api.regions(code || undefined)).items) this.names.set(r.code, r.name);
    } catch { /* codes stay readable */ }
  }
}
