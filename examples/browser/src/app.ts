/** The demo app's entry: one page per model, each on the backend chosen in the header. */
import {kanPage} from './pages/kan';
import {lmPage} from './pages/lm';
import {start} from './shell';

void start([lmPage, kanPage]);
