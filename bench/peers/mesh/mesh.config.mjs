// GraphQL Mesh composition of the demo services for Hive Gateway (bench/run's `hive` peer).
//
// The services' OpenAPI documents describe their list endpoints with one `oneOf` response
// (a JSON array for `?ids=`, a page object otherwise), which Mesh's OpenAPI loader types as
// `[Error]`. So each shape is declared here as its own operation with Mesh's JSON Schema
// loader, typed by the schemas of the same OpenAPI documents (fetched at compose time, see
// bench/bench.py), and the graph's joins are `@resolveTo` batch resolvers: the
// configuration a team would write to put Mesh in front of these services.
import { defineConfig } from '@graphql-mesh/compose-cli';
import { loadJSONSchemaSubgraph } from '@omnigraph/json-schema';

const base = Number(process.env.SERVICES_BASE_PORT ?? 4100);
const endpoint = offset => `http://127.0.0.1:${base + offset}`;
const schema = (service, name) => `./openapi/${service}.json#/components/schemas/${name}`;
const page = (service, name) => ({
  type: 'object',
  title: `${name}Page`,
  properties: { items: { type: 'array', items: { $ref: schema(service, name) } } },
});
const ids = { type: 'array', items: { type: 'integer' } };
const comma = { arrayFormat: 'comma' };

export const composeConfig = defineConfig({
  subgraphs: [
    {
      sourceHandler: loadJSONSchemaSubgraph('users', {
        endpoint: endpoint(1),
        operationHeaders: { accept: 'application/json' },
        operations: [
          { type: 'Query', field: 'user', path: '/users/{args.id}', method: 'GET',
            argTypeMap: { id: { type: 'string' } }, requiredArgs: ['id'],
            responseSchema: schema('users', 'User') },
          { type: 'Query', field: 'usersPage', path: '/users', method: 'GET',
            argTypeMap: { limit: { type: 'integer' }, offset: { type: 'integer' } },
            queryParamArgMap: { limit: 'limit', offset: 'offset' },
            responseSchema: page('users', 'User') },
          { type: 'Query', field: 'usersByIds', path: '/users', method: 'GET',
            argTypeMap: { ids }, queryParamArgMap: { ids: 'ids' },
            queryStringOptionsByParam: { ids: comma },
            responseSchema: { type: 'array', items: { $ref: schema('users', 'User') } } },
        ],
      }),
    },
    {
      sourceHandler: loadJSONSchemaSubgraph('orders', {
        endpoint: endpoint(2),
        operationHeaders: { accept: 'application/json', 'content-type': 'application/json' },
        operations: [
          { type: 'Query', field: 'ordersByUserIds', path: '/orders', method: 'GET',
            argTypeMap: { userIds: ids, limit: { type: 'integer' } },
            queryParamArgMap: { userIds: 'userIds', limit: 'limit' },
            queryStringOptionsByParam: { userIds: comma },
            responseSchema: page('orders', 'Order') },
          { type: 'Mutation', field: 'placeOrder', path: '/orders', method: 'POST',
            requestSchema: schema('orders', 'NewOrder'), requestTypeName: 'PlaceOrderInput',
            responseSchema: schema('orders', 'Order') },
        ],
      }),
    },
    {
      sourceHandler: loadJSONSchemaSubgraph('payments', {
        endpoint: endpoint(3),
        operationHeaders: { accept: 'application/json' },
        operations: [
          { type: 'Query', field: 'paymentsByOrderIds', path: '/payments', method: 'GET',
            argTypeMap: { orderIds: ids }, queryParamArgMap: { orderIds: 'orderIds' },
            queryStringOptionsByParam: { orderIds: comma },
            responseSchema: page('payments', 'Payment') },
        ],
      }),
    },
    {
      sourceHandler: loadJSONSchemaSubgraph('notifications', {
        endpoint: endpoint(4),
        operationHeaders: { accept: 'application/json' },
        operations: [
          { type: 'Query', field: 'notificationsByUserIds', path: '/notifications', method: 'GET',
            argTypeMap: { userIds: ids, limit: { type: 'integer' }, unreadOnly: { type: 'boolean' } },
            queryParamArgMap: { userIds: 'userIds', limit: 'limit', unreadOnly: 'unreadOnly' },
            queryStringOptionsByParam: { userIds: comma },
            responseSchema: page('notifications', 'Notification') },
          { type: 'Query', field: 'unreadCounts', path: '/unread-counts', method: 'GET',
            argTypeMap: { userIds: ids }, queryParamArgMap: { userIds: 'userIds' },
            queryStringOptionsByParam: { userIds: comma },
            responseSchema: {
              type: 'array',
              items: { type: 'object', title: 'UnreadCount',
                       properties: { userId: { type: 'integer' }, unread: { type: 'integer' } } },
            } },
        ],
      }),
    },
  ],
  additionalTypeDefs: /* GraphQL */ `
    extend type Query {
      users(first: Int = 20, offset: Int = 0): [User!]!
        @resolveTo(sourceName: "users", sourceTypeName: "Query", sourceFieldName: "usersPage",
                   sourceArgs: { limit: "{args.first}", offset: "{args.offset}" }, result: "items")
    }
    extend type User {
      orders(first: Int = 10): [Order!]!
        @resolveTo(sourceName: "orders", sourceTypeName: "Query", sourceFieldName: "ordersByUserIds",
                   keyField: "id", keysArg: "userIds", valueKeyField: "userId",
                   additionalArgs: { limit: "{args.first}" }, result: "items")
      notifications(first: Int = 10, unreadOnly: Boolean = false): [Notification!]!
        @resolveTo(sourceName: "notifications", sourceTypeName: "Query", sourceFieldName: "notificationsByUserIds",
                   keyField: "id", keysArg: "userIds", valueKeyField: "userId",
                   additionalArgs: { limit: "{args.first}", unreadOnly: "{args.unreadOnly}" }, result: "items")
      unreadNotificationCount: UnreadCount
        @resolveTo(sourceName: "notifications", sourceTypeName: "Query", sourceFieldName: "unreadCounts",
                   keyField: "id", keysArg: "userIds", valueKeyField: "userId")
    }
    extend type Order {
      user: User
        @resolveTo(sourceName: "users", sourceTypeName: "Query", sourceFieldName: "usersByIds",
                   keyField: "userId", keysArg: "ids", valueKeyField: "id")
      payment: Payment
        @resolveTo(sourceName: "payments", sourceTypeName: "Query", sourceFieldName: "paymentsByOrderIds",
                   keyField: "id", keysArg: "orderIds", valueKeyField: "orderId", result: "items")
    }
  `,
});
