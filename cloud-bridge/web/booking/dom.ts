export * from '@stile/web-kit/dom';
