/**
 * The server's QR code (SVG) shown without trusting it: parsed as SVG, refused if it holds anything but shapes
 * (scripts, foreign objects, links, event handlers, external references), then shown as an <img> data URL, where
 * SVG can run nothing anyway.
 * @module
 */

const SVG_NS = "http://www.w3.org/2000/svg";
const SHAPES = new Set(["svg", "g", "path", "rect", "title", "desc"]);

/**
 * @param {string} text the `qr_svg` of POST /v1/orders
 * @returns {string | null} a data: URL for an <img>, or null when the SVG is not a plain drawing
 */
export function safeSvgDataUrl(text) {
  if (typeof text !== "string" || !text) return null;
  const doc = new DOMParser().parseFromString(text, "image/svg+xml");
  const root = doc.documentElement;
  if (doc.getElementsByTagName("parsererror").length || root.namespaceURI !== SVG_NS || root.localName !== "svg") {
    return null;
  }
  for (const node of [root, ...root.querySelectorAll("*")]) {
    if (node.namespaceURI !== SVG_NS || !SHAPES.has(node.localName)) return null;
    for (const attr of node.attributes) {
      if (/^on/i.test(attr.localName) || /href$/i.test(attr.localName) || /url\s*\(|javascript:/i.test(attr.value)) {
        return null;
      }
    }
  }
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(new XMLSerializer().serializeToString(root))}`;
}
