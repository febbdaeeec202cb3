/** Style sheets imported for their side effect: esbuild bundles them into screen.css. */
declare module '*.css';
