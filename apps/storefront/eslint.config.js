import { base, widgets } from '@jifen/eslint-config';

// The demo shop runs in the browser like the widgets: no Node, no database, the API as types only.
export default [...base, ...widgets];
