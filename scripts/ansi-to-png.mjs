// Renders a `tmux capture-pane -e -p` screen (text with SGR color codes) to a PNG with ImageMagick:
//   node scripts/ansi-to-png.mjs screen.ansi out.png [convert-binary]
// Each cell is drawn on a fixed grid with DejaVu Sans Mono, so the picture is the terminal's screen.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const [input, output, convert = "convert"] = process.argv.slice(2);
if (!input || !output) {
  console.error("usage: ansi-to-png.mjs <screen.ansi> <out.png> [convert]");
  process.exit(2);
}

const FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf";
const FONT_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf";
const POINT = 15;
const CELL_W = 9;
const CELL_H = 19;
const PAD = 14;
const FG = [212, 212, 212];
const BG = [30, 30, 30];
const PALETTE = [
  [40, 40, 40], [224, 108, 117], [152, 195, 121], [229, 192, 123], [97, 175, 239], [198, 120, 221], [86, 182, 194], [212, 212, 212],
  [92, 99, 112], [240, 128, 128], [180, 220, 150], [240, 210, 140], [130, 195, 255], [220, 150, 240], [120, 210, 220], [255, 255, 255],
];

const xterm256 = (n) => {
  if (n < 16) return PALETTE[n];
  if (n < 232) {
    const v = [0, 95, 135, 175, 215, 255];
    const i = n - 16;
    return [v[Math.floor(i / 36)], v[Math.floor(i / 6) % 6], v[i % 6]];
  }
  const g = 8 + (n - 232) * 10;
  return [g, g, g];
};

/** Parses the screen into rows of cells { ch, fg, bg, bold, dim, inverse }. */
function parse(text) {
  const rows = [];
  let style = { fg: null, bg: null, bold: false, dim: false, inverse: false };
  for (const line of text.replace(/\n$/, "").split("\n")) {
    const cells = [];
    const re = /\x1b\[([0-9;]*)m|([^\x1b])/gu;
    let m;
    while ((m = re.exec(line))) {
      if (m[2] !== undefined) {
        cells.push({ ch: m[2], ...style });
        continue;
      }
      const codes = m[1] === "" ? [0] : m[1].split(";").map(Number);
      for (let i = 0; i < codes.length; i++) {
        const c = codes[i];
        if (c === 0) style = { fg: null, bg: null, bold: false, dim: false, inverse: false };
        else if (c === 1) style = { ...style, bold: true };
        else if (c === 2) style = { ...style, dim: true };
        else if (c === 22) style = { ...style, bold: false, dim: false };
        else if (c === 7) style = { ...style, inverse: true };
        else if (c === 27) style = { ...style, inverse: false };
        else if (c >= 30 && c <= 37) style = { ...style, fg: PALETTE[c - 30] };
        else if (c >= 90 && c <= 97) style = { ...style, fg: PALETTE[c - 90 + 8] };
        else if (c === 39) style = { ...style, fg: null };
        else if (c >= 40 && c <= 47) style = { ...style, bg: PALETTE[c - 40] };
        else if (c >= 100 && c <= 107) style = { ...style, bg: PALETTE[c - 100 + 8] };
        else if (c === 49) style = { ...style, bg: null };
        else if ((c === 38 || c === 48) && codes[i + 1] === 5) {
          style = { ...style, [c === 38 ? "fg" : "bg"]: xterm256(codes[i + 2]) };
          i += 2;
        } else if ((c === 38 || c === 48) && codes[i + 1] === 2) {
          style = { ...style, [c === 38 ? "fg" : "bg"]: codes.slice(i + 2, i + 5) };
          i += 4;
        }
      }
    }
    rows.push(cells);
  }
  return rows;
}

const hex = (rgb) => `#${rgb.map((v) => Math.round(v).toString(16).padStart(2, "0")).join("")}`;
const mix = (a, b, t) => a.map((v, i) => v * (1 - t) + b[i] * t);

function colors(cell) {
  let fg = cell.fg ?? FG;
  let bg = cell.bg ?? BG;
  if (cell.inverse) [fg, bg] = [bg, fg];
  if (cell.dim) fg = mix(fg, bg, 0.45);
  return { fg: hex(fg), bg: hex(bg) };
}

const rows = parse(readFileSync(input, "utf8"));
const columns = Math.max(...rows.map((r) => r.length));
const width = PAD * 2 + columns * CELL_W;
const height = PAD * 2 + rows.length * CELL_H;
const mvg = [`viewbox 0 0 ${width} ${height}`, `fill ${hex(BG)}`, `rectangle 0,0 ${width},${height}`, `font-size ${POINT}`];
const quote = (s) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
rows.forEach((cells, y) => {
  let x = 0;
  while (x < cells.length) {
    const { fg, bg } = colors(cells[x]);
    const bold = cells[x].bold;
    let end = x + 1;
    while (end < cells.length && cells[end].bold === bold && colors(cells[end]).fg === fg && colors(cells[end]).bg === bg) end++;
    const left = PAD + x * CELL_W;
    const top = PAD + y * CELL_H;
    if (bg !== hex(BG)) mvg.push(`fill ${bg}`, `rectangle ${left},${top} ${left + (end - x) * CELL_W},${top + CELL_H}`);
    // One text primitive per cell keeps every glyph on the grid, whatever the font's advance.
    mvg.push(`fill ${fg}`, `font ${quote(bold ? FONT_BOLD : FONT)}`);
    for (let i = x; i < end; i++) {
      if (cells[i].ch !== " ") mvg.push(`text ${PAD + i * CELL_W},${top + CELL_H - 5} ${quote(cells[i].ch)}`);
    }
    x = end;
  }
});

const dir = mkdtempSync(join(tmpdir(), "ansi-png-"));
try {
  const file = join(dir, "screen.mvg");
  writeFileSync(file, `${mvg.join("\n")}\n`);
  const result = spawnSync(convert, [`mvg:${file}`, output], { stdio: "inherit" });
  if (result.status !== 0) process.exit(result.status ?? 1);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
