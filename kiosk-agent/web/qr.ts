export { qrSvg } from '@stile/web-kit/qr';
