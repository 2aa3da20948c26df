import type { FastifyInstance } from 'fastify';

const methods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/**
 * A known path asked with a method it does not have answers 405 with the methods it has (RFC 9110), not 404.
 * Call before the routes are added (it watches them with an `onRoute` hook); then call the function it returns,
 * once they all are, to add the 405 routes.
 */
export function methodNotAllowed(app: FastifyInstance): () => void {
  const methodsByPath = new Map<string, Set<string>>();
  app.addHook('onRoute', (route) => {
    const known = methodsByPath.get(route.url) ?? new Set<string>();
    for (const method of [route.method].flat()) known.add(method);
    methodsByPath.set(route.url, known);
  });
  return () => {
    for (const [url, known] of [...methodsByPath]) {
      const allow = [...known].join(', ');
      const others = methods.filter((m) => !known.has(m));
      if (others.length > 0)
        app.route({
          method: others,
          url,
          schema: { hide: true },
          handler: (_request, reply) =>
            reply
              .code(405)
              .header('allow', allow)
              .send({ error: `${url} allows ${allow}` }),
        });
    }
  };
}
