// "Use as input" / "Inpaint" from the Gallery (detail panel, a single selection) and Compare (the picked cell):
// the gallery image becomes the Generate form's init image (the server keeps its own file, named by id), the size
// becomes the image's own (rounded to 16, within the limits), and the Generate view opens — with the mask editor
// for "Inpaint".
import { useRouter } from 'vue-router';
import { StudioError } from '../../../src-shared/errors';
import { useGenerateStore } from '../../stores/generate';
import { useInitImageStore } from '../../stores/init-image';

export function useAsInput(): (imageId: number, options?: { inpaint?: boolean }) => Promise<void> {
  const router = useRouter();
  return async (imageId, options = {}) => {
    const init = useInitImageStore();
    const gen = useGenerateStore();
    const kept = await init.fromGallery(imageId, (size) => {
      gen.setSize('width', size.width);
      gen.setSize('height', size.height);
    });
    if (!kept) throw new StudioError('invalid_input', init.error ?? `Image ${imageId} could not be used as input.`);
    init.editorOpen = options.inpaint === true;
    await router.push('/generate');
  };
}
