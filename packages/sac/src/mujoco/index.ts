/** @tfjs-ext/sac/mujoco: environments on the official MuJoCo WebAssembly build (mujoco-js). */
export {InvertedPendulum, loadMujoco} from './inverted_pendulum';
export {INVERTED_PENDULUM_XML} from './inverted_pendulum_xml';
