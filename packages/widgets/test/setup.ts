import { configure } from '@testing-library/react';

// CI shares two cores with the database and browser suites; a re-render waited on with `waitFor`
// may take longer than Testing Library's 1 s default there. A longer wait hides no failure: an
// assertion that never comes true still fails, just later.
configure({ asyncUtilTimeout: 5_000 });
