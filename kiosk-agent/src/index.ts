/** @stile/kiosk-agent: the self-service ticket machine (issue #17). Device codecs first; the sale flow and daemon build on them. */
export {};
