import react from '@vitejs/plugin-react'
import { defineConfig } from 'vite'

// The control plane serves the built files from console/dist at `/` and the API on the same origin,
// so the dev server proxies `/api` to a locally running control plane (override with CWIC_API_URL).
const apiTarget = process.env.CWIC_API_URL ?? 'http://127.0.0.1:8080'

export default defineConfig({
  base: '/',
  plugins: [react()],
  server: {
    proxy: {
      '/api': { target: apiTarget, changeOrigin: false },
    },
  },
  preview: {
    proxy: {
      '/api': { target: apiTarget, changeOrigin: false },
    },
  },
  build: {
    outDir: 'dist',
    // Not Vite's default `assets`: the control plane serves dist/ with tower-http's ServeDir, which
    // answers a request for a directory (`/assets`, our inventory route) with a redirect to `/assets/`.
    assetsDir: 'static',
    emptyOutDir: true,
    sourcemap: false,
  },
})
