// Compare's URL ⇄ store: the URL carries what is shown (#/compare?ids=1,2,3[&job=7] or ?saved=4) so a comparison can
// be bookmarked or reloaded; a URL opens it, and what the store shows is written back (replace, not push).
import { watch } from 'vue';
import { useRoute, useRouter, type LocationQuery } from 'vue-router';
import type { useCompareStore } from '../../stores/compare';

type CompareStore = ReturnType<typeof useCompareStore>;

const ID = /^[1-9][0-9]{0,15}$/;

export function idsFrom(q: LocationQuery): number[] {
  const raw = typeof q.ids === 'string' ? q.ids : '';
  return raw
    .split(',')
    .filter((s) => ID.test(s))
    .map(Number);
}

function intFrom(v: unknown): number | undefined {
  return typeof v === 'string' && ID.test(v) ? Number(v) : undefined;
}

function sameQuery(a: LocationQuery, b: Record<string, string>): boolean {
  const ka = Object.keys(a).filter((k) => a[k] !== undefined);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

/** Keeps the route and the store in step while the view is mounted; `wantedQuery` is the store's URL. */
export function useCompareRoute(store: CompareStore): { wantedQuery: () => Record<string, string> } {
  const route = useRoute();
  const router = useRouter();

  function wantedQuery(): Record<string, string> {
    if (store.savedId !== undefined) return { saved: String(store.savedId) };
    if (!store.imageIds.length) return {};
    return store.jobId !== undefined ? { ids: store.imageIds.join(','), job: String(store.jobId) } : { ids: store.imageIds.join(',') };
  }

  watch(
    () => route.query,
    async (q) => {
      if (route.path !== '/compare') return;
      const saved = intFrom(q.saved);
      if (saved !== undefined) {
        if (store.savedId !== saved) await store.openSaved(saved);
        return;
      }
      const ids = idsFrom(q);
      if (ids.length) {
        const job = intFrom(q.job);
        if (!store.shows(ids) || store.savedId !== undefined) await store.openImages(ids, job === undefined ? {} : { jobId: job });
        return;
      }
      if (store.active && !sameQuery(q, wantedQuery())) await router.replace({ path: '/compare', query: wantedQuery() });
    },
    { immediate: true },
  );
  watch(
    () => [store.savedId, store.imageIds.join(','), store.jobId],
    () => {
      if (route.path === '/compare' && store.active && !sameQuery(route.query, wantedQuery())) void router.replace({ path: '/compare', query: wantedQuery() });
    },
  );
  return { wantedQuery };
}
