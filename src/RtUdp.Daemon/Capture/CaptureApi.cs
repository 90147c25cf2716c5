using Grpc.Core;
using Microsoft.Extensions.Options;
using RtUdp.Daemon.Api;
using RtUdp.Daemon.Generators;
using RtUdp.V1;

namespace RtUdp.Daemon.Capture;

/// <summary>rtudp.v1.CaptureService: a receiving channel's traffic to a pcapng file in the capture directory (see <see cref="PacketCapture"/>).</summary>
internal sealed class CaptureApi(ApiContext api, CaptureRegistry captures, IOptions<CaptureOptions> options, ILogger<PacketCapture> logger)
    : CaptureService.CaptureServiceBase
{
    public const string Collection = "captures";
    private const string Extension = ".pcapng";

    public override Task<StartCaptureResponse> StartCapture(StartCaptureRequest request, ServerCallContext context)
    {
        CaptureOptions settings = options.Value;
        var violations = new List<ApiErrors.Violation>();
        string id = request.CaptureId.Length == 0 ? captures.NextId() : request.CaptureId;
        if (!ChildResourceName.IsValidId(id))
        {
            violations.Add(new("capture_id", "must be 1-63 of [a-z0-9-], starting with a letter"));
        }
        string fileName = request.FileName.EndsWith(Extension, StringComparison.Ordinal) || request.FileName.Length == 0 ? request.FileName : request.FileName + Extension;
        if (CaptureFiles.Problem(request.FileName) is { } problem)
        {
            violations.Add(new("file_name", problem));
        }
        else if (fileName.Length > CaptureFiles.MaxName)
        {
            violations.Add(new("file_name", $"longer than {CaptureFiles.MaxName} characters with {Extension}"));
        }
        if (request.Mode is not (CaptureMode.Unspecified or CaptureMode.Tee or CaptureMode.Exclusive))
        {
            violations.Add(new("mode", "must be TEE or EXCLUSIVE"));
        }
        if (request.MaxPackets < 0)
        {
            violations.Add(new("max_packets", "must not be negative (0: no limit)"));
        }
        if (violations.Count > 0)
        {
            throw ApiErrors.InvalidArgument(violations);
        }
        ChannelEntry entry = api.Find(request.Parent, "parent");
        if (!entry.Config.Receives)
        {
            throw ApiErrors.FailedPrecondition(entry.Name, "the channel does not receive (direction SEND)", "DIRECTION");
        }
        if (!settings.Enabled)
        {
            throw ApiErrors.FailedPrecondition("Capture:Directory", "captures are disabled (the daemon's Capture:Directory is empty)", "CONFIGURATION");
        }
        System.Net.IPEndPoint local;
        using (ChannelEntry.Lease lease = api.Lease(request.Parent, "parent"))
        {
            local = lease.Handle.BoundLocal;
        }
        CaptureMode mode = request.Mode == CaptureMode.Unspecified ? CaptureMode.Tee : request.Mode;
        string name = ChildResourceName.Format(entry.Id, Collection, id);
        string path = CaptureFiles.Resolve(settings.Directory, fileName);
        Stream? file = null;
        PacketCapture? capture;
        try
        {
            capture = captures.TryStart(entry, name, () =>
            {
                file = Open(settings.Directory, path, fileName, request.Overwrite);
                return new PacketCapture(name, entry, local, mode, fileName, path, file, settings.QueueCapacity, request.MaxPackets, logger);
            }, out string? conflict);
            if (capture is null)
            {
                throw ApiErrors.AlreadyExists(conflict == name ? name : $"{conflict} (a running capture of {entry.Name})");
            }
        }
        catch
        {
            file?.Dispose();
            throw;
        }
        return Task.FromResult(new StartCaptureResponse { Capture = capture.ToProto() });
    }

    public override Task<StopCaptureResponse> StopCapture(StopCaptureRequest request, ServerCallContext context)
    {
        PacketCapture capture = Find(request.Name);
        capture.Stop();
        return Task.FromResult(new StopCaptureResponse { Capture = capture.ToProto() });
    }

    public override Task<GetCaptureResponse> GetCapture(GetCaptureRequest request, ServerCallContext context) =>
        Task.FromResult(new GetCaptureResponse { Capture = Find(request.Name).ToProto() });

    public override Task<ListCapturesResponse> ListCaptures(ListCapturesRequest request, ServerCallContext context)
    {
        string? parent = request.Parent.Length > 0 ? api.Find(request.Parent, "parent").Name : null;
        var response = new ListCapturesResponse();
        response.Captures.AddRange(captures.List(parent).Select(c => c.ToProto()));
        return Task.FromResult(response);
    }

    /// <summary>Creates the file (O_EXCL unless overwriting; never through a symbolic link).</summary>
    private static FileStream Open(string directory, string path, string fileName, bool overwrite)
    {
        try
        {
            Directory.CreateDirectory(directory);
            var existing = new FileInfo(path);
            if (existing.Exists || existing.LinkTarget is not null)
            {
                if (!overwrite)
                {
                    throw ApiErrors.AlreadyExists($"capture file {fileName}");
                }
                if (existing.LinkTarget is not null)
                {
                    throw ApiErrors.FailedPrecondition(fileName, "is a symbolic link; refusing to write through it", "FILE");
                }
                File.Delete(path);
            }
            return new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read, bufferSize: 1 << 16);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw ApiErrors.FailedPrecondition(fileName, $"cannot create it in the capture directory: {e.Message}", "FILE");
        }
    }

    private PacketCapture Find(string name)
    {
        if (ChildResourceName.Parse(name, Collection) is null)
        {
            throw ApiErrors.InvalidArgument("name", $"'{name}' is not a capture name: expected {ChannelRegistry.Prefix}{{channel_id}}/{Collection}/{{capture_id}}");
        }
        return captures.TryGet(name, out PacketCapture capture) ? capture : throw ApiErrors.NotFound(name);
    }
}
