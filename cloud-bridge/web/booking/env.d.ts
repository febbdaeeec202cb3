/** Style sheets imported for their side effect: esbuild bundles them into booking.css. */
declare module '*.css';
