// bench/run's `apollo` peer: the backend-for-frontend a team would otherwise write. Apollo
// Server 5 serving the demo graph's public schema (printed by `switchyard print-schema`)
// with hand-written resolvers over the same REST calls, batched per request with
// DataLoader.
//
//   SCHEMA=public.graphql PORT=4170 SERVICES_BASE_PORT=4100 node bench/peers/apollo.mjs
import { readFileSync } from 'node:fs';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import DataLoader from 'dataloader';

const base = Number(process.env.SERVICES_BASE_PORT ?? 4100);
const url = {
  users: `http://127.0.0.1:${base + 1}`,
  orders: `http://127.0.0.1:${base + 2}`,
  payments: `http://127.0.0.1:${base + 3}`,
  notifications: `http://127.0.0.1:${base + 4}`,
};

async function get(service, path) {
  const response = await fetch(url[service] + path, { headers: { accept: 'application/json' } });
  if (response.status === 404) return null;
  if (!response.ok) throw new Error(`${service} answered ${response.status}`);
  return response.json();
}

async function post(service, path, body) {
  const response = await fetch(url[service] + path, {
    method: 'POST',
    headers: { accept: 'application/json', 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${service} answered ${response.status}`);
  return response.json();
}

const query = params =>
  new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== null)).toString();

/** Items of `list` grouped by `field`, in the order of `keys`. */
function groupBy(list, field, keys) {
  const groups = new Map(keys.map(k => [String(k), []]));
  for (const item of list) groups.get(String(item[field]))?.push(item);
  return keys.map(k => groups.get(String(k)));
}

/** One loader per (endpoint, extra arguments), created on first use in a request. */
function loaders() {
  const byName = new Map();
  return (name, make) => {
    let loader = byName.get(name);
    if (!loader) {
      loader = new DataLoader(make, { maxBatchSize: 500 });
      byName.set(name, loader);
    }
    return loader;
  };
}

const resolvers = {
  Query: {
    user: (_, { id }) => get('users', `/users/${encodeURIComponent(id)}`),
    users: async (_, { first, offset }) =>
      (await get('users', `/users?${query({ limit: first, offset })}`)).items,
    order: (_, { id }) => get('orders', `/orders/${encodeURIComponent(id)}`),
    me: () => null,
  },
  Mutation: {
    placeOrder: (_, { input }) => post('orders', '/orders', input),
    payOrder: (_, { orderId, method }) => post('payments', '/payments', { orderId, method }),
    markNotificationRead: (_, { id }) =>
      post('notifications', `/notifications/${encodeURIComponent(id)}/read`, {}),
  },
  User: {
    orders: (user, { first, status }, { loader }) =>
      loader(`orders:${first}:${status}`, async ids => {
        const page = await get('orders', `/orders?${query({ userIds: ids.join(','), limit: first, status })}`);
        return groupBy(page.items, 'userId', ids);
      }).load(user.id),
    notifications: (user, { first, unreadOnly }, { loader }) =>
      loader(`notifications:${first}:${unreadOnly}`, async ids => {
        const page = await get(
          'notifications',
          `/notifications?${query({ userIds: ids.join(','), limit: first, unreadOnly })}`,
        );
        return groupBy(page.items, 'userId', ids);
      }).load(user.id),
    unreadNotificationCount: (user, _, { loader }) =>
      loader('unread', async ids => {
        const counts = await get('notifications', `/unread-counts?userIds=${ids.join(',')}`);
        return groupBy(counts, 'userId', ids).map(found => found[0]?.unread ?? 0);
      }).load(user.id),
  },
  Order: {
    user: (order, _, { loader }) =>
      loader('users', async ids => {
        const users = await get('users', `/users?ids=${ids.join(',')}`);
        return groupBy(users, 'id', ids).map(found => found[0] ?? null);
      }).load(order.userId),
    payment: (order, _, { loader }) =>
      loader('payments', async ids => {
        const page = await get('payments', `/payments?orderIds=${ids.join(',')}`);
        return groupBy(page.items, 'orderId', ids).map(found => found[0] ?? null);
      }).load(order.id),
  },
  Payment: {
    order: (payment, _, { loader }) =>
      loader('orders', async ids => {
        const orders = await get('orders', `/orders?ids=${ids.join(',')}`);
        return groupBy(orders, 'id', ids).map(found => found[0] ?? null);
      }).load(payment.orderId),
  },
  Notification: {
    user: (notification, _, { loader }) =>
      loader('users', async ids => {
        const users = await get('users', `/users?ids=${ids.join(',')}`);
        return groupBy(users, 'id', ids).map(found => found[0] ?? null);
      }).load(notification.userId),
  },
};

const server = new ApolloServer({
  typeDefs: readFileSync(process.env.SCHEMA ?? 'public.graphql', 'utf8'),
  resolvers,
});
const { url: served } = await startStandaloneServer(server, {
  listen: { host: '127.0.0.1', port: Number(process.env.PORT ?? 4170) },
  context: async () => ({ loader: loaders() }),
});
console.log(`apollo peer on ${served}`);
