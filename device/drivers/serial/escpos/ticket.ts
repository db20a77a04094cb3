// What a queue ticket says (pure), and how it looks as one raster image (a real font, so Vietnamese prints
// on any ESC/POS printer). Vietnamese first: the citizen reads it.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createCanvas, GlobalFonts, type SKRSContext2D } from '@napi-rs/canvas';
import QRCode from 'qrcode';
import type { PrintJob, PriorityReason } from '../../../../protocol/index.js';

export const PRIORITY_LABELS: Record<PriorityReason, string> = {
  elderly: 'Người cao tuổi',
  disability: 'Người khuyết tật',
  pregnant: 'Phụ nữ mang thai',
  child: 'Người có con nhỏ',
};

export interface TicketContent {
  office: string;
  title: string;
  subtitle: string;
  number: string;
  service: string;
  priority: string | null;
  ahead: string;
  wait: string | null;
  time: string;
  qrUrl: string | null;
  qrCaption: string;
  footer: string;
}

/** `07:29 - 22/11/2026` in the office's timezone. */
export function formatIssuedAt(iso: string, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    hour: '2-digit',
    minute: '2-digit',
    day: '2-digit',
    month: '2-digit',
    year: 'numeric',
    hourCycle: 'h23',
  }).formatToParts(new Date(iso));
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  return `${get('hour')}:${get('minute')} - ${get('day')}/${get('month')}/${get('year')}`;
}

export function ticketContent(job: PrintJob, timeZone: string, qrUrl: string | null): TicketContent {
  const t = job.ticket;
  return {
    office: job.officeName,
    title: 'SỐ THỨ TỰ',
    subtitle: 'Your number',
    number: t.number,
    service: `Lĩnh vực: ${t.serviceName}`,
    priority: t.priority ? `Ưu tiên: ${PRIORITY_LABELS[t.priority]}` : null,
    ahead: `Số người chờ trước bạn: ${t.ahead}`,
    // Nothing rather than "khoảng 0 phút": no estimate, nobody ahead, or under 5 minutes said as such.
    wait:
      t.estimatedWaitMin === null || t.ahead === 0
        ? null
        : t.estimatedWaitMin < 5
          ? 'Thời gian chờ dự kiến: dưới 5 phút'
          : `Thời gian chờ dự kiến: khoảng ${t.estimatedWaitMin} phút`,
    time: `Giờ lấy số: ${formatIssuedAt(t.issuedAt, timeZone)}`,
    qrUrl,
    qrCaption: 'Quét mã để theo dõi lượt của bạn',
    footer: 'Vui lòng chờ đến lượt được gọi. Xin cảm ơn!',
  };
}

// ---- the raster image -----------------------------------------------------------------------------

const FAMILY = 'LobbyTicketSans';
let fontsLoaded = false;

/** DejaVu Sans from the dejavu-fonts-ttf package: no system font is needed, the ticket looks the same everywhere. */
function loadFonts(): void {
  if (fontsLoaded) return;
  const require = createRequire(import.meta.url);
  const dir = join(dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf');
  GlobalFonts.registerFromPath(join(dir, 'DejaVuSans.ttf'), FAMILY);
  GlobalFonts.registerFromPath(join(dir, 'DejaVuSans-Bold.ttf'), FAMILY);
  fontsLoaded = true;
}

/** A 1-bit-ready image: RGBA pixels, white background, black ink; height a multiple of 8. */
export interface TicketImage {
  width: number;
  height: number;
  data: Uint8ClampedArray;
}

type Block =
  | { kind: 'text'; text: string; px: number; bold: boolean; gap: number }
  | { kind: 'number'; text: string; px: number; gap: number }
  | { kind: 'rule'; gap: number }
  | {
      kind: 'qr';
      modules: { size: number; get(r: number, c: number): number | boolean };
      scale: number;
      gap: number;
    };

function wrap(g: SKRSContext2D, text: string, maxWidth: number): string[] {
  const words = text.split(/\s+/).filter(Boolean);
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    const next = line ? `${line} ${w}` : w;
    if (line && g.measureText(next).width > maxWidth) {
      lines.push(line);
      line = w;
    } else line = next;
  }
  if (line) lines.push(line);
  return lines;
}

const font = (px: number, bold: boolean) => `${bold ? 'bold ' : ''}${px}px ${FAMILY}`;

/** Renders the ticket at `width` dots (384 on 58 mm paper, 576 on 80 mm). */
export function renderTicketImage(c: TicketContent, width: number): TicketImage {
  loadFonts();
  const s = width / 576;
  const margin = Math.round(12 * s);
  const inner = width - 2 * margin;
  // Below 16 px, thin strokes vanish when the image is thresholded to 1 bit (58 mm paper).
  const px = (n: number) => Math.max(16, Math.round(n * s));
  const blocks: Block[] = [
    { kind: 'text', text: c.office, px: px(26), bold: true, gap: px(8) },
    { kind: 'rule', gap: px(10) },
    { kind: 'text', text: `${c.title} / ${c.subtitle}`, px: px(24), bold: true, gap: 0 },
    { kind: 'number', text: c.number, px: px(150), gap: px(6) },
    { kind: 'text', text: c.service, px: px(28), bold: true, gap: px(10) },
  ];
  if (c.priority) blocks.push({ kind: 'text', text: c.priority, px: px(26), bold: true, gap: px(8) });
  blocks.push({ kind: 'text', text: c.ahead, px: px(24), bold: false, gap: px(6) });
  if (c.wait) blocks.push({ kind: 'text', text: c.wait, px: px(24), bold: false, gap: px(6) });
  blocks.push({ kind: 'text', text: c.time, px: px(24), bold: false, gap: px(10) });
  if (c.qrUrl) {
    const qr = QRCode.create(c.qrUrl, { errorCorrectionLevel: 'M' });
    const scale = Math.max(2, Math.floor((200 * s) / (qr.modules.size + 8)));
    blocks.push({ kind: 'qr', modules: qr.modules, scale, gap: px(4) });
    blocks.push({ kind: 'text', text: c.qrCaption, px: px(20), bold: false, gap: px(8) });
  }
  blocks.push({ kind: 'rule', gap: px(8) });
  blocks.push({ kind: 'text', text: c.footer, px: px(20), bold: false, gap: 0 });

  // Two passes: measure on a scratch canvas, then draw on one of the final height.
  const scratch = createCanvas(width, 8).getContext('2d');
  const measured = blocks.map((b) => {
    if (b.kind === 'text') {
      scratch.font = font(b.px, b.bold);
      const lines = wrap(scratch, b.text, inner);
      return { b, lines, h: lines.length * Math.round(b.px * 1.25) };
    }
    if (b.kind === 'number') {
      let size = b.px;
      scratch.font = font(size, true);
      while (size > 24 && scratch.measureText(b.text).width > inner) scratch.font = font((size -= 4), true);
      return { b: { ...b, px: size }, lines: [b.text], h: Math.round(size * 1.05) };
    }
    if (b.kind === 'rule') return { b, lines: [], h: Math.max(2, Math.round(3 * s)) + b.gap };
    return { b, lines: [], h: (b.modules.size + 8) * b.scale };
  });
  const top = px(8);
  const bottom = px(16);
  const raw = top + measured.reduce((sum, m) => sum + m.h + m.b.gap, 0) + bottom;
  const height = Math.ceil(raw / 8) * 8;

  const canvas = createCanvas(width, height);
  const g = canvas.getContext('2d');
  g.fillStyle = '#fff';
  g.fillRect(0, 0, width, height);
  g.fillStyle = '#000';
  g.textAlign = 'center';
  g.textBaseline = 'alphabetic';
  let y = top;
  for (const m of measured) {
    const b = m.b;
    if (b.kind === 'text' || b.kind === 'number') {
      const bold = b.kind === 'number' || b.bold;
      g.font = font(b.px, bold);
      const lh = b.kind === 'number' ? m.h : Math.round(b.px * 1.25);
      for (const line of m.lines) {
        g.fillText(line, width / 2, y + Math.round(lh * (b.kind === 'number' ? 0.86 : 0.8)));
        y += lh;
      }
    } else if (b.kind === 'rule') {
      y += Math.round(b.gap / 2);
      g.fillRect(margin, y, inner, Math.max(2, Math.round(3 * s)));
      y += m.h - Math.round(b.gap / 2);
      continue; // the gap is inside h
    } else {
      const side = (b.modules.size + 8) * b.scale;
      const x0 = Math.round((width - side) / 2) + 4 * b.scale;
      const y0 = y + 4 * b.scale;
      for (let r = 0; r < b.modules.size; r++)
        for (let col = 0; col < b.modules.size; col++)
          if (b.modules.get(r, col)) g.fillRect(x0 + col * b.scale, y0 + r * b.scale, b.scale, b.scale);
      y += side;
    }
    y += b.gap;
  }
  const img = g.getImageData(0, 0, width, height);
  return { width, height, data: img.data };
}
