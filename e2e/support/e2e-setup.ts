// The e2e suites run against the built app (out/): build it when missing.
import setup from './global-setup';

export default function e2eSetup(): void {
  setup();
}
