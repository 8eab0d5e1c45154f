import {expect} from 'chai';
import {uniformKnots} from '../bspline/reference';
import {designMatrix, evalCurves, fitCoefficients} from './host';

describe('kan: spline least squares (host, float64)', () => {
  // sin(2x) sampled on [-1, 0.5] only; cubic splines with 8 intervals on [-1, 1]: the last two coefficients have no
  // sample in their support
  const knots = uniformKnots(8, 3, [-1, 1]);
  const xs = Float64Array.from({length: 200}, (_, i) => -1 + 1.5 * i / 199);
  const y = xs.map((v) => Math.sin(2 * v));
  const probe = Float64Array.of(0.3, 0.6, 0.75, 0.9);
  const errors = (curvature: number) => {
    const coef = fitCoefficients(xs, y, 1, knots, 3, 1e-10, curvature);
    const s = evalCurves(designMatrix(probe, knots, 3), probe.length, 11, coef, 1);
    return Array.from(s, (v, i) => Math.abs(v - Math.sin(2 * probe[i])));
  };

  it('the curvature penalty continues the fit beyond the samples and leaves it unchanged inside', () => {
    const plain = errors(0), smooth = errors(1e-9);
    // measured: inside 7.2e-6 both; beyond, 1.1e-2 / 0.16 / 0.53 without the penalty (free coefficients pulled
    // to 0) and 4.9e-4 / 5.8e-4 / 5.5e-3 with it
    expect(smooth[0]).to.be.lessThan(1e-5);
    expect(Math.abs(smooth[0] - plain[0])).to.be.lessThan(1e-8);
    expect(smooth[1]).to.be.lessThan(2e-3);
    expect(smooth[2]).to.be.lessThan(2e-3);
    expect(smooth[3]).to.be.lessThan(2e-2);
    expect(plain[3]).to.be.greaterThan(0.1);
  });
});
