import { base } from '@jifen/eslint-config';

export default [...base];
