using Grpc.Core;
using Grpc.Core.Interceptors;
using RtUdp.Core.Contract.Control;

namespace RtUdp.Daemon.Api;

/// <summary>Maps an <see cref="EngineCommandException"/> escaping any call onto its gRPC status (<see cref="ApiErrors.FromEngine"/>).</summary>
public sealed class EngineErrorInterceptor : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (EngineCommandException e)
        {
            throw ApiErrors.FromEngine(e);
        }
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(requestStream, context);
        }
        catch (EngineCommandException e)
        {
            throw ApiErrors.FromEngine(e);
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (EngineCommandException e)
        {
            throw ApiErrors.FromEngine(e);
        }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(requestStream, responseStream, context);
        }
        catch (EngineCommandException e)
        {
            throw ApiErrors.FromEngine(e);
        }
    }
}
