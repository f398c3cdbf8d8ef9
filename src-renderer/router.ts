// The views (docs/architecture.md), hash-routed so the same build works from studio://app and http.
import { createRouter, createWebHashHistory, type RouteRecordRaw } from 'vue-router';
import CompareView from './views/CompareView.vue';
import GalleryView from './views/GalleryView.vue';
import GenerateView from './views/GenerateView.vue';
import LorasView from './views/LorasView.vue';
import ModelsView from './views/ModelsView.vue';
import SettingsView from './views/SettingsView.vue';

export interface ViewEntry {
  path: string;
  name: string;
  icon: string;
}

export const VIEWS: ViewEntry[] = [
  { path: '/generate', name: 'Generate', icon: '✦' },
  { path: '/gallery', name: 'Gallery', icon: '▦' },
  { path: '/compare', name: 'Compare', icon: '◫' },
  { path: '/models', name: 'Models', icon: '⬇' },
  { path: '/loras', name: 'LoRAs', icon: '◈' },
  { path: '/settings', name: 'Settings', icon: '⚙' },
];

const routes: RouteRecordRaw[] = [
  { path: '/', redirect: '/generate' },
  { path: '/generate', component: GenerateView, meta: { title: 'Generate' } },
  { path: '/gallery', component: GalleryView, meta: { title: 'Gallery' } },
  { path: '/compare', component: CompareView, meta: { title: 'Compare' } },
  { path: '/models', component: ModelsView, meta: { title: 'Models' } },
  { path: '/loras', component: LorasView, meta: { title: 'LoRAs' } },
  { path: '/settings', component: SettingsView, meta: { title: 'Settings' } },
  { path: '/:rest(.*)*', redirect: '/generate' },
];

export function createStudioRouter() {
  return createRouter({ history: createWebHashHistory(), routes });
}
