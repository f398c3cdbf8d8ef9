// A person's name for a model → the stored model: catalog ids, catalog repos, owner/name[@rev], folder:…; and the
// not-found errors that say what is installed.
import { CATALOG, CATALOG_IDS, catalogVariantForRepo, isCatalogId, parseRepoRef, type CatalogId } from '../../../src-shared/catalog';
import { StudioError } from '../../../src-shared/errors';
import { installedHint, installedIds } from './entries';
import type { ModelRow, ModelStore } from './store';

/** What a download fetches: the model's id, its repo and the revision asked for. */
export interface Target {
  id: string;
  repo: string;
  revision: string;
  catalogId?: CatalogId;
}

export class ModelLookup {
  constructor(private readonly store: ModelStore) {}

  parseRef(ref: string): Target {
    const text = ref.trim();
    if (isCatalogId(text)) return { id: text, repo: CATALOG[text].repo, revision: 'main', catalogId: text };
    const parsed = parseRepoRef(text);
    const variant = catalogVariantForRepo(parsed.repo);
    if (variant) return { id: variant.id, repo: variant.repo, revision: parsed.revision, catalogId: variant.id };
    const row = this.store.find(parsed.repo);
    return { id: row?.id ?? parsed.repo, repo: parsed.repo, revision: parsed.revision };
  }

  /** A user's id → the stored id: catalog ids, catalog repos, owner/name, folder:…. */
  canonicalId(id: string): string {
    const text = id.trim();
    if (isCatalogId(text)) return text;
    const variant = catalogVariantForRepo(text.split('@')[0]!);
    if (variant) return variant.id;
    return this.store.find(text)?.id ?? text;
  }

  requireRow(id: string): ModelRow {
    const row = this.store.find(this.canonicalId(id));
    if (!row) throw this.unknownModel(id);
    return row;
  }

  unknownModel(id: string): StudioError {
    return new StudioError(
      'not_found',
      isCatalogId(id.trim())
        ? `${id} is not installed or downloading.`
        : `No model "${id}" here: use a catalog id (${CATALOG_IDS.join(', ')}), an owner/name you downloaded, or a folder:… id from the list.${this.installedHint(id)}`,
      { model: id, installed: this.installedIds() },
    );
  }

  installedIds(): string[] {
    return installedIds(this.store.all());
  }

  installedHint(id: string): string {
    return installedHint(id, this.installedIds());
  }
}
