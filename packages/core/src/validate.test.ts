/** The argument-check helpers: messages name the op, the offending key and the accepted ones. */
import {expect} from 'chai';
import {assertKnownKeys} from './index';

describe('core: assertKnownKeys', () => {
  it('accepts known keys, no options, and rejects an unknown key naming it and the accepted ones', () => {
    expect(() => assertKnownKeys('myOp', {causal: true}, ['scale', 'causal'])).to.not.throw();
    expect(() => assertKnownKeys('myOp', undefined, ['scale'])).to.not.throw();
    expect(() => assertKnownKeys('myOp', {casual: true}, ['scale', 'causal'])).to.throw(
        "myOp: unknown option 'casual'; accepted: causal, scale");
    expect(() => assertKnownKeys('MyLayer', {unitz: 3}, ['units'], 'config key')).to.throw(
        "MyLayer: unknown config key 'unitz'; accepted: units");
    expect(() => assertKnownKeys('myOp', 3, ['scale'])).to.throw('myOp: options must be an object, got number');
  });
});
