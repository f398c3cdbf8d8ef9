import { createPinia } from 'pinia';
import { createApp } from 'vue';
import App from './App.vue';
import { createStudioClient, reloadOnNewToken } from './api';
import { createStudioRouter } from './router';
import { setStudio } from './studio';
import './styles.css';

function showFatal(message: string): void {
  const root = document.getElementById('app');
  if (!root) return;
  const box = document.createElement('div');
  box.className = 'fatal';
  box.setAttribute('role', 'alert');
  const h = document.createElement('h1');
  h.textContent = 'SD3.5 Studio cannot start';
  const p = document.createElement('p');
  p.textContent = message;
  box.append(h, p);
  root.replaceChildren(box);
}

// Before the router: a new #token= in the address bar is a new server, not a route.
reloadOnNewToken();
try {
  setStudio(createStudioClient());
  createApp(App).use(createPinia()).use(createStudioRouter()).mount('#app');
} catch (err) {
  showFatal(err instanceof Error ? err.message : String(err));
}
