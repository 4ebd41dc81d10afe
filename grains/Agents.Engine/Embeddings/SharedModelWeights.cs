using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Agents.Engine.Embeddings;

/// <summary>
/// One copy of an ONNX model's weights for every session of a process: the model's float initializers are copied once
/// into aligned native memory and handed to each session as ONNX Runtime shared initializers
/// (<see cref="SessionOptions.AddInitializer"/>), and the kernels' prepacked forms of them are kept once in a
/// <see cref="PrePackedWeightsContainer"/>. Without it each session holds its own weights and its own prepacked copy.
/// Must outlive every session made with it.
/// </summary>
public sealed unsafe class SharedModelWeights : IDisposable
{
    /// <summary>Initializers smaller than this stay in the model: they are shapes and constants, not weights.</summary>
    public const int MinSharedBytes = 1024;

    private readonly List<(string Name, OrtValue Value)> _values = [];
    private readonly List<nint> _buffers = [];
    private bool _disposed;

    /// <summary>Copies the float initializers of <paramref name="model"/> (ONNX bytes) out once.</summary>
    public SharedModelWeights(byte[] model)
    {
        ArgumentNullException.ThrowIfNull(model);
        try
        {
            foreach (var tensor in OnnxInitializers.Read(model))
            {
                if (tensor.DataType != OnnxInitializers.FloatType || tensor.RawLength < MinSharedBytes)
                {
                    continue;
                }

                var buffer = (nint)NativeMemory.AlignedAlloc((nuint)tensor.RawLength, 64);
                _buffers.Add(buffer);
                model.AsSpan(tensor.RawOffset, tensor.RawLength).CopyTo(new Span<byte>((void*)buffer, tensor.RawLength));
                var value = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Float, tensor.Dimensions, buffer, tensor.RawLength);
                _values.Add((tensor.Name, value));
                Bytes += tensor.RawLength;
            }

            PrePacked = new PrePackedWeightsContainer();
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Initializers shared.</summary>
    public int Count => _values.Count;

    /// <summary>Bytes of weights held (once, whatever the number of sessions).</summary>
    public long Bytes { get; }

    /// <summary>The prepacked weights every session made with these weights shares.</summary>
    public PrePackedWeightsContainer PrePacked { get; } = null!;

    /// <summary>Makes a session built with <paramref name="options"/> use these weights instead of its own copy.</summary>
    public void AddTo(SessionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ObjectDisposedException.ThrowIf(_disposed, this);
        foreach (var (name, value) in _values)
        {
            options.AddInitializer(name, value);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        PrePacked?.Dispose();
        foreach (var (_, value) in _values)
        {
            value.Dispose();
        }

        foreach (var buffer in _buffers)
        {
            NativeMemory.AlignedFree((void*)buffer);
        }
    }
}

/// <summary>
/// The initializers of an ONNX model (ModelProto.graph.initializer), read straight from the protobuf wire format:
/// name, element type, dimensions and where the raw bytes are. Tensors without raw_data are listed with a length of 0.
/// </summary>
public static class OnnxInitializers
{
    /// <summary>TensorProto.DataType FLOAT.</summary>
    public const int FloatType = 1;

    /// <summary>One initializer: its raw bytes are model[RawOffset .. RawOffset + RawLength].</summary>
    public sealed record Tensor(string Name, int DataType, long[] Dimensions, int RawOffset, int RawLength);

    /// <summary>Every initializer of the model's main graph, in file order.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a well-formed ONNX model.</exception>
    public static IReadOnlyList<Tensor> Read(byte[] model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var tensors = new List<Tensor>();
        var reader = new Reader(model, 0, model.Length);
        while (reader.More)
        {
            var (field, wire) = reader.Tag();

            // ModelProto.graph = 7; GraphProto.initializer = 5.
            if (field == 7 && wire == 2)
            {
                var graph = reader.Nested();
                while (graph.More)
                {
                    var (gField, gWire) = graph.Tag();
                    if (gField == 5 && gWire == 2)
                    {
                        tensors.Add(ReadTensor(graph.Nested()));
                    }
                    else
                    {
                        graph.Skip(gWire);
                    }
                }
            }
            else
            {
                reader.Skip(wire);
            }
        }

        return tensors;
    }

    private static Tensor ReadTensor(Reader tensor)
    {
        var dims = new List<long>();
        var type = 0;
        var name = "";
        int offset = 0, length = 0;
        while (tensor.More)
        {
            var (field, wire) = tensor.Tag();
            switch (field, wire)
            {
                case (1, 0):
                    dims.Add((long)tensor.Varint());
                    break;
                case (1, 2):
                    var packed = tensor.Nested();
                    while (packed.More)
                    {
                        dims.Add((long)packed.Varint());
                    }

                    break;
                case (2, 0):
                    type = (int)tensor.Varint();
                    break;
                case (8, 2):
                    var text = tensor.Nested();
                    name = System.Text.Encoding.UTF8.GetString(text.Bytes, text.Position, text.End - text.Position);
                    break;
                case (9, 2):
                    var raw = tensor.Nested();
                    (offset, length) = (raw.Position, raw.End - raw.Position);
                    break;
                default:
                    tensor.Skip(wire);
                    break;
            }
        }

        return new Tensor(name, type, [.. dims], offset, length);
    }

    private struct Reader(byte[] bytes, int position, int end)
    {
        public readonly byte[] Bytes = bytes;
        public int Position = position;
        public readonly int End = end;

        public readonly bool More => Position < End;

        public (int Field, int Wire) Tag()
        {
            var tag = Varint();
            return ((int)(tag >> 3), (int)(tag & 7));
        }

        public ulong Varint()
        {
            ulong value = 0;
            for (var shift = 0; shift < 64; shift += 7)
            {
                if (Position >= End)
                {
                    throw new InvalidDataException("The ONNX model ends inside a number.");
                }

                var b = Bytes[Position++];
                value |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80)
                {
                    return value;
                }
            }

            throw new InvalidDataException("The ONNX model has a number longer than 10 bytes.");
        }

        public Reader Nested()
        {
            var length = Varint();
            if (length > (ulong)(End - Position))
            {
                throw new InvalidDataException("The ONNX model has a field longer than what holds it.");
            }

            var nested = new Reader(Bytes, Position, Position + (int)length);
            Position += (int)length;
            return nested;
        }

        public void Skip(int wire)
        {
            switch (wire)
            {
                case 0:
                    Varint();
                    break;
                case 1:
                    Advance(8);
                    break;
                case 2:
                    Nested();
                    break;
                case 5:
                    Advance(4);
                    break;
                default:
                    throw new InvalidDataException($"The ONNX model has a field of wire type {wire}, which ONNX does not use.");
            }
        }

        private void Advance(int count)
        {
            if (count > End - Position)
            {
                throw new InvalidDataException("The ONNX model ends inside a field.");
            }

            Position += count;
        }
    }
}
