// Imported first by each webview entry, before any schema exists: zod probes `new Function`
// when it builds its first object schema, and the webview's CSP (no 'unsafe-eval') reports
// that probe as a violation even though zod copes without it.
import { z } from 'zod';

z.config({ jitless: true });
