/** Style sheets imported for their side effect: esbuild bundles them into kiosk.css. */
declare module '*.css';
