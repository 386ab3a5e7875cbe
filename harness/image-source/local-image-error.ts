/**
 * The one error of a local image (an OCI layout, an archive): what is missing or malformed in it, in
 * one sentence. It is an environment error, as a registry's missing manifest is: the CLI prints the
 * sentence and exits 2. Content that does not match its digest is the registry folder's
 * DigestMismatchError, whichever source served it.
 */
import { EnvironmentError } from '../base/index.ts';

export class LocalImageError extends EnvironmentError {
  override name = 'LocalImageError';
}
