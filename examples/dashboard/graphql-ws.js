// A minimal graphql-transport-ws client (https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md):
// one connection per subscription, authenticated in connection_init, like the server expects.

/**
 * Subscribe and call onNext(data) for every `next` message.
 * Resolves when the server completes the operation; rejects on `error` or an unexpected close.
 */
export function subscribe({ url, token, query, variables, operationName, onNext }) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, 'graphql-transport-ws');
    let finished = false;
    const finish = (settle, value) => {
      if (finished) return;
      finished = true;
      socket.close(1000, 'done');
      settle(value);
    };

    socket.onopen = () => {
      socket.send(JSON.stringify({ type: 'connection_init', payload: { Authorization: `Bearer ${token}` } }));
    };
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      switch (message.type) {
        case 'connection_ack':
          socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query, variables, operationName } }));
          break;
        case 'ping':
          socket.send(JSON.stringify({ type: 'pong' }));
          break;
        case 'next':
          if (message.payload.errors?.length) {
            finish(reject, new Error(message.payload.errors[0].message));
          } else {
            onNext(message.payload.data);
          }
          break;
        case 'error':
          finish(reject, new Error(message.payload[0]?.message ?? 'subscription refused'));
          break;
        case 'complete':
          finish(resolve);
          break;
      }
    };
    socket.onclose = (event) => {
      // A refused handshake (e.g. an Origin not allowed) closes with 1006 and no reason.
      finish(reject, new Error(`WebSocket closed (${event.code}${event.reason ? ` ${event.reason}` : ''})`));
    };
  });
}
