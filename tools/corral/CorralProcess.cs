namespace Corral.Tool;

/// <summary>A process that answered the Corral EventSource's Hello.</summary>
/// <param name="ProcessId">Its id.</param>
/// <param name="Name">Its name (for <c>dotnet app.dll</c>, the app's name).</param>
/// <param name="CorralVersion">The version of the Corral assembly it runs.</param>
/// <param name="ProtocolVersion">The version of the snapshot protocol it speaks.</param>
internal sealed record CorralProcess(int ProcessId, string Name, string CorralVersion, int ProtocolVersion);
