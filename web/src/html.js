// htm bound to preact: JSX-like templates with no build-time transform.
import { h } from 'preact';
import htm from 'htm';

export const html = htm.bind(h);
