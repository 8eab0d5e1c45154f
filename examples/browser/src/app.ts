/** The demo app's entry: one page per model, each on the backend chosen in the header. */
import {bfnPage} from './pages/bfn';
import {kanPage} from './pages/kan';
import {lmPage} from './pages/lm';
import {mambaPage} from './pages/mamba';
import {pointnetPage} from './pages/pointnet';
import {sacPage} from './pages/sac';
import {start} from './shell';

void start([lmPage, mambaPage, kanPage, bfnPage, sacPage, pointnetPage]);
