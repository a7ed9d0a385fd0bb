# %% [markdown]
# # 03_training

# %%
print(1)
