import { base, pure } from '@jifen/eslint-config';

export default [...base, ...pure];
