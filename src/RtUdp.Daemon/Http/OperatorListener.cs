using System.Net;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Grpc.JsonTranscoding;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace RtUdp.Daemon.Http;

/// <summary>
/// The HTTP/1.1 listener for operators' tools (<see cref="HttpOptions"/>), and the split of the routes:
/// /metrics and the JSON routes answer only there, gRPC only on the gRPC listeners (HTTP/2). Kestrel tags
/// each connection with the listener it came in on; <see cref="Gate"/> answers 404 to a route asked on the
/// wrong one.
/// </summary>
internal static partial class OperatorListener
{
    private const string ConnectionTag = "rtudp.operator-listener";

    /// <summary>Marks an endpoint (besides the JSON transcoding ones) as served on the operator listener.</summary>
    public sealed class EndpointMarker;

    public static Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions? Configure(KestrelServerOptions kestrel, HttpOptions http)
    {
        if (http.EndPoint is not { } endpoint)
        {
            return null;
        }
        Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions? bound = null;
        kestrel.Listen(endpoint, o =>
        {
            o.Protocols = HttpProtocols.Http1;
            o.Use(next => connection =>
            {
                connection.Items[ConnectionTag] = true;
                return next(connection);
            });
            bound = o;
        });
        return bound;
    }

    /// <summary>Middleware after routing: a route answers only on the listener it belongs to.</summary>
    public static Task Gate(HttpContext context, RequestDelegate next)
    {
        bool onOperatorListener = context.Features.Get<IConnectionItemsFeature>()?.Items.ContainsKey(ConnectionTag) == true;
        Endpoint? endpoint = context.GetEndpoint();
        bool operatorRoute = endpoint is not null
            && (endpoint.Metadata.GetMetadata<EndpointMarker>() is not null || endpoint.Metadata.GetMetadata<GrpcJsonTranscodingMetadata>() is not null);
        if (endpoint is not null && operatorRoute != onOperatorListener)
        {
            context.SetEndpoint(null);
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }
        return next(context);
    }

    public static void LogListening(Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions? bound, HttpOptions http, ILogger logger)
    {
        if (bound?.IPEndPoint is not { } endpoint)
        {
            return;
        }
        string address = $"http://{(endpoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{endpoint.Address}]" : endpoint.Address.ToString())}:{endpoint.Port}";
        Log.Listening(logger, address, http.JsonApi ? "/metrics and the read-only JSON API /v1" : "/metrics");
        if (!IPAddress.IsLoopback(endpoint.Address))
        {
            Log.NonLoopback(logger, address);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 404, Level = LogLevel.Information, Message = "Listening on {Address} (HTTP/1.1: {Routes})")]
        public static partial void Listening(ILogger logger, string address, string routes);

        [LoggerMessage(EventId = 405, Level = LogLevel.Information, Message = "The metrics and JSON listener {Address} is not on loopback: it is read-only, unauthenticated and plaintext")]
        public static partial void NonLoopback(ILogger logger, string address);
    }
}
