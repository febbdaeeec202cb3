/**
 * A QR code as an SVG element, drawn from uqr's module matrix (uqr: a small, dependency-free
 * encoder, ~4 KB gzipped in the bundle). One path of dark squares, crisp at any size; a quiet
 * zone of 4 modules as the standard asks, so phone scanners and gate scanners read it. The
 * booking page draws tickets with it, the kiosk screen its payment codes.
 */
import { encode } from 'uqr';

const SVGNS = 'http://www.w3.org/2000/svg';

export function qrSvg(text: string, label: string, ecc: 'L' | 'M' | 'Q' = 'M'): SVGSVGElement {
  const { data, size } = encode(text, { ecc, border: 4 });
  let d = '';
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) if (data[y]![x]) d += `M${x} ${y}h1v1h-1z`;
  }
  const svg = document.createElementNS(SVGNS, 'svg');
  svg.setAttribute('viewBox', `0 0 ${size} ${size}`);
  svg.setAttribute('shape-rendering', 'crispEdges');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', label);
  svg.setAttribute('class', 'qr');
  const bg = document.createElementNS(SVGNS, 'rect');
  bg.setAttribute('width', String(size));
  bg.setAttribute('height', String(size));
  bg.setAttribute('fill', '#fff');
  const path = document.createElementNS(SVGNS, 'path');
  path.setAttribute('d', d);
  path.setAttribute('fill', '#000');
  svg.appendChild(bg);
  svg.appendChild(path);
  return svg;
}
